/* The intrusive doubly linked lists of live objects (connections, model
 * calls, SSH commands, waiters): a node has prev and next pointers, its
 * owner a head. Pushed at the head, unlinked in O(1) from its close
 * callback. Typed once here instead of at each of the six lists. Both
 * macros name head and node more than once: pass plain lvalues.
 */
#ifndef BG_DLIST_H
#define BG_DLIST_H

#define DLIST_PUSH(head, node)                                                                     \
  do {                                                                                             \
    (node)->prev = NULL;                                                                           \
    (node)->next = (head);                                                                         \
    if (head) (head)->prev = (node);                                                               \
    (head) = (node);                                                                               \
  } while (0)

/* node must be on the list that starts at head; its own links are left
 * as they were. */
#define DLIST_UNLINK(head, node)                                                                   \
  do {                                                                                             \
    if ((node)->prev)                                                                              \
      (node)->prev->next = (node)->next;                                                           \
    else                                                                                           \
      (head) = (node)->next;                                                                       \
    if ((node)->next) (node)->next->prev = (node)->prev;                                           \
  } while (0)

#endif
